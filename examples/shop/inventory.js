// Stock look-ups that take a little while, like a real database call would.

const stock = new Map([
  ['tea', 1000],
  ['coffee', 500],
  ['mug', 1],
]);

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function checkStock(items) {
  await delay(0);
  return items.every((item) => (stock.get(item.sku) ?? 0) >= item.qty);
}
