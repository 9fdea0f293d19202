// A real OpenID provider on loopback for the sign-in tests: the certified `oidc-provider`
// package, configured by the test from a JSON file whose path is the first argument:
//
//   {"port": 47001, "issuer": "http://127.0.0.1:47001",
//    "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["..."],
//                  "post_logout_redirect_uris": ["..."]}],
//    "users": [{"sub": "...", "email": "...", "email_verified": true, "name": "...",
//               "phone": "+33...", "phone_verified": false}],
//    "clock_offset": -600, "id_token_ttl": 60}
//
// Users sign in on the provider's own (development) login page with their `sub` or their
// email as the login and any password, then confirm on its consent page. `clock_offset`
// (seconds) moves the provider's clock, so that with a short `id_token_ttl` it issues ID
// tokens that have already expired. Prints "ready <issuer>" once it listens; stops on
// SIGTERM or SIGINT.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import process from 'node:process';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

if (config.clock_offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + config.clock_offset * 1000;
}

// Imported after the clock is set, so that the provider only ever sees the moved one.
const { default: Provider } = await import('oidc-provider');

// A signing key of this run only: a token signed by any other key is not the provider's.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const users = new Map();
for (const user of config.users ?? []) {
  users.set(user.sub, user);
  if (user.email) users.set(user.email, user);
}

const provider = new Provider(config.issuer, {
  clients: (config.clients ?? []).map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris ?? [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic',
  })),
  jwks: { keys: [signing] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { methods: ['S256'], required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    phone: ['phone_number', 'phone_number_verified'],
  },
  ttl: { IdToken: config.id_token_ttl ?? 3600 },
  async findAccount(ctx, id) {
    const user = users.get(id);
    if (!user) return undefined;
    return {
      accountId: user.sub,
      async claims() {
        return {
          sub: user.sub,
          email: user.email,
          email_verified: user.email_verified ?? false,
          name: user.name,
          phone_number: user.phone,
          phone_number_verified: user.phone_verified ?? false,
        };
      },
    };
  },
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${config.issuer}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
