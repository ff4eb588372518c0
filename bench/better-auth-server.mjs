// A Better Auth server for the side-by-side TOTP bench: its documented SQLite set-up (a
// better-sqlite3 database handed to betterAuth, tables made by its own migrations), e-mail and
// password sign-in and the twoFactor plugin, served by its Node handler on one port.
//
// Usage: node bench/better-auth-server.mjs DB_FILE PORT. Prints `ready PORT` once listening.
//
// Two settings differ from the defaults, neither on the path being measured:
// - the built-in rate limit is off (the load comes from one address, as with Holdfast's bench);
// - the password hash is a plain comparison, so seeding thousands of pending sign-ins takes
//   seconds. The bench times only POST /two-factor/verify-totp, which never touches the password.
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import Database from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { twoFactor } from 'better-auth/plugins/two-factor';

const [dbFile, portArg] = process.argv.slice(2);
if (!dbFile || !portArg) {
  console.error('usage: node bench/better-auth-server.mjs DB_FILE PORT');
  process.exit(2);
}
const baseURL = `http://127.0.0.1:${portArg}`;
const options = {
  appName: 'bench',
  baseURL,
  secret: 'bench-secret-bench-secret-bench-secret-0123456789',
  database: new Database(dbFile),
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  emailAndPassword: {
    enabled: true,
    password: {
      hash: async (password) => password,
      verify: async ({ hash, password }) =>
        hash.length === password.length && timingSafeEqual(Buffer.from(hash), Buffer.from(password)),
    },
  },
  plugins: [twoFactor()],
};
const auth = betterAuth(options);
const { runMigrations } = await getMigrations(options);
await runMigrations();
const server = http.createServer(toNodeHandler(auth));
server.keepAliveTimeout = 60_000;
server.listen(Number(portArg), '127.0.0.1', () => console.log(`ready ${portArg}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
