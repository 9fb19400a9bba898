import Table from 'cli-table3';
for (const n of [50, 100, 200, 400, 800, 1600]) {
  const rows = Array.from({ length: n }, (_, i) =>
    Array.from({ length: 10 }, (_, j) => `cell_${i}_${j}_${'x'.repeat(i % 7)}`),
  );
  const t0 = performance.now();
  const t = new Table({ head: Array.from({ length: 10 }, (_, j) => 'h' + j), style: { head: [], border: [] } });
  for (const r of rows) t.push(r);
  t.toString();
  const ms = performance.now() - t0;
  console.log(n, ms.toFixed(1) + 'ms', ((ms / n) * 1000).toFixed(0) + 'us/row');
}
