// The yardstick of the platform benchmark: a bare Fastify hello-world from the project's
// own node_modules (same Fastify version), no logger, no plugins. With a database
// argument it also serves GET /query, one `SELECT 1` per request: the floor of a read
// that needs one query ("hello-world + one query").
//   PORT=<port> node bench/lib/hello-world.ts [pglite | postgres://…]
import Fastify from 'fastify';

const port = Number(process.env.PORT);
const database = process.argv[2];
const app = Fastify({ logger: false });
app.get('/', () => ({ hello: 'world' }));

if (database === 'pglite') {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create();
  app.get('/query', async () => ({ one: (await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one }));
} else if (database !== undefined) {
  const pg = await import('pg');
  const pool = new pg.default.Pool({ connectionString: database, max: 10 });
  app.get('/query', async () => ({ one: (await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one }));
}

await app.listen({ host: '127.0.0.1', port });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
