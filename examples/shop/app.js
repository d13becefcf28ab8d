// A small shop back-end to record with recall: parses orders, prices them (with a slow
// discount rule), checks stock asynchronously, and has a worker thread build a sales report.
// Run it traced with `npm run demo` from the repository root.

import { Worker } from 'node:worker_threads';
import { checkStock } from './inventory.js';
import { priceOrder } from './pricing.js';

const rawOrders = [
  '{"id": 1, "customer": "ann", "items": [{"sku": "tea", "qty": 2}, {"sku": "mug", "qty": 1}]}',
  '{"id": 2, "customer": "bob", "items": [{"sku": "coffee", "qty": 3}]}',
  '{"id": 3, "customer": "cy", "items": [{"sku": "tea", "qty": 1}',
  '{"id": 4, "customer": "dee", "items": [{"sku": "mug", "qty": 4}, {"sku": "coffee", "qty": 1}]}',
];

function parseOrder(text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    console.log(`skipping a malformed order: ${error.message}`);
    return null;
  }
}

async function handleOrder(order) {
  const available = await checkStock(order.items);
  if (!available) return { id: order.id, status: 'backordered' };
  return { id: order.id, status: 'ok', total: priceOrder(order) };
}

function buildReport(results) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./report-worker.js', import.meta.url), { workerData: results, name: 'report' });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function main() {
  const orders = rawOrders.map(parseOrder).filter(Boolean);
  // Simulate a busy day: the same orders again and again.
  const results = [];
  for (let round = 0; round < 200; round++) {
    for (const order of orders) results.push(await handleOrder(order));
  }
  const report = await buildReport(results);
  console.log(`processed ${results.length} orders; revenue ${report.revenue.toFixed(2)}; ${report.backordered} backordered`);
}

await main();
