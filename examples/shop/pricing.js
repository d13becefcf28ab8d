// Prices: a base price list and a deliberately slow loyalty discount.

const prices = { tea: 4.5, coffee: 7.25, mug: 12 };

function unitPrice(sku) {
  return prices[sku] ?? 0;
}

function loyaltyDiscount(customer) {
  // An expensive rule: hashes the name many times.
  let h = 0;
  for (let i = 0; i < 20000; i++) h = (h * 31 + customer.charCodeAt(i % customer.length)) | 0;
  return (Math.abs(h) % 10) / 100;
}

export function priceOrder(order) {
  const subtotal = order.items.reduce((sum, item) => sum + unitPrice(item.sku) * item.qty, 0);
  return subtotal * (1 - loyaltyDiscount(order.customer));
}
