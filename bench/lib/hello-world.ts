// The yardstick of the platform benchmark: a bare Fastify hello-world from the project's
// own node_modules (same Fastify version), no logger, no plugins. With a database
// argument it also serves GET /query, one `SELECT 1` per request: the floor of a read
// that needs one query ("hello-world + one query"). GET /work/<µs> answers the same after
// that many microseconds (at most 1,000) of busy work on the event loop: what a route's
// own work costs the whole server, the HTTP handling around it included.
//   PORT=<port> node bench/lib/hello-world.ts [pglite | postgres://…]
import Fastify from 'fastify';

const port = Number(process.env.PORT);
const database = process.argv[2];
const app = Fastify({ logger: false });
app.get('/', () => ({ hello: 'world' }));
app.get<{ Params: { us: string } }>('/work/:us', (request) => {
  const until = process.hrtime.bigint() + BigInt(Math.min(1000, Number.parseInt(request.params.us, 10) || 0) * 1000);
  while (process.hrtime.bigint() < until);
  return { hello: 'world' };
});

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
