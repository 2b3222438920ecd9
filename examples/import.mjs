// Imports an example's collections into a running tarmac, as a superuser:
//
//   TARMAC_URL=http://127.0.0.1:8090 \
//   TARMAC_SUPERUSER_EMAIL=admin@example.com TARMAC_SUPERUSER_PASSWORD=... \
//   node examples/import.mjs examples/loan-tracker/collections.json
//
// The same as Settings -> Import collections in the dashboard, or
// PUT /api/collections/import with {"collections": [...], "deleteMissing": false}:
// collections of these names (or ids) are updated, new ones created, others
// left alone.
import { readFileSync } from 'node:fs';
import PocketBase from 'pocketbase';

const [file] = process.argv.slice(2);
const url = process.env.TARMAC_URL || 'http://127.0.0.1:8090';
const email = process.env.TARMAC_SUPERUSER_EMAIL;
const password = process.env.TARMAC_SUPERUSER_PASSWORD;
if (!file || !email || !password) {
    console.error('usage: TARMAC_SUPERUSER_EMAIL=... TARMAC_SUPERUSER_PASSWORD=... node import.mjs collections.json');
    process.exit(2);
}

const pb = new PocketBase(url);
try {
    await pb.collection('_superusers').authWithPassword(email, password);
    const collections = JSON.parse(readFileSync(file, 'utf8'));
    await pb.collections.import(collections, false);
    console.log(`imported ${collections.map((c) => c.name).join(', ')} into ${url}`);
} catch (e) {
    console.error(`import failed: ${e.message}`, e.response ? JSON.stringify(e.response) : '');
    process.exit(1);
}
