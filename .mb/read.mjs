import Database from 'better-sqlite3';
import fs from 'node:fs';
fs.rmSync('/tmp/mb/q.db*', {force:true});
const db = new Database('/tmp/mb/q.db'); db.pragma('journal_mode=WAL');
db.exec('DROP TABLE IF EXISTS records; CREATE TABLE records (seq INTEGER PRIMARY KEY, received_at INTEGER, size INTEGER, only_sink TEXT, decision_id TEXT, event_type TEXT, json TEXT)');
const ins = db.prepare('INSERT INTO records VALUES (?,?,?,?,?,?,?)');
const json = JSON.stringify({eventType:'admission_decision', decisionId:'x', pad:'y'.repeat(420)});
db.transaction(()=>{ for (let i=1;i<=200000;i++) ins.run(i, Date.now(), 500, null, '0190a1b2-c3d4-7e5f-8a9b-'+String(i).padStart(12,'0'), 'admission_decision', json); })();
const q = 'SELECT seq, decision_id AS decisionId, event_type AS eventType, json FROM records WHERE seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY seq LIMIT ?';
const variants = {
  all: db.prepare(q),
  raw: db.prepare(q).raw(true),
  nojson: db.prepare('SELECT seq, decision_id AS decisionId, event_type AS eventType FROM records WHERE seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY seq LIMIT ?'),
  blob: db.prepare('SELECT seq, decision_id AS decisionId, event_type AS eventType, CAST(json AS BLOB) AS json FROM records WHERE seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY seq LIMIT ?'),
  seqonly: db.prepare('SELECT seq FROM records WHERE seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY seq LIMIT ?').pluck(),
};
for (let round=0; round<3; round++) for (const [name, st] of Object.entries(variants)) {
  const t0 = process.cpuUsage();
  let n=0;
  for (let after=0; after<200000; after+=1000) { const rows = st.all(after, 'http', 1000); n+=rows.length; if (name==='raw') { const out = new Array(rows.length); for (let i=0;i<rows.length;i++){ const r=rows[i]; out[i]={seq:r[0],decisionId:r[1],eventType:r[2],json:r[3]}; } } }
  const c = process.cpuUsage(t0);
  console.log(name, ((c.user+c.system)/n).toFixed(3), 'µs/row');
}
