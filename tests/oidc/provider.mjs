// A real OpenID Connect provider (the certified `oidc-provider` package) for tests/test_oidc.py.
// Started by the test fixture on a loopback port: node provider.mjs, configured by environment:
//   PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma-separated)
// The login step has no form: GET /interaction/<uid> logs in the account a test chose before
// with POST /test/account {"sub": ..., "email": ..., "name": ...}. Everything else (the
// authorisation endpoint, PKCE, the token endpoint, signed ID tokens, JWKS) is the provider's own.
// Two more test endpoints: GET /test/requests counts the requests by path (how often eva fetched
// the discovery document and the key set), POST /test/rotate replaces the signing key with a new
// one (a new provider on the same issuer; the old key is gone from the JWKS at once).
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = new Map();
const requests = {};
let next = null;

// A signing key of this process alone: two providers never share one (the quick-start keys do).
function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
}

// A fresh configuration for each provider made (the constructor may keep and change it).
const configuration = () => ({
  jwks: { keys: [signingKey()] },
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: process.env.REDIRECT_URIS.split(','),
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  cookies: { keys: ['eva-test-only-cookie-key'] },
  async findAccount(ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return { accountId: id, async claims() { return { ...account, sub: id }; } };
  },
  async loadExistingGrant(ctx) {
    // Every scope the client asks for is granted: no consent page in the tests.
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

function makeProvider() {
  const made = new Provider(issuer, configuration());
  made.proxy = false;
  return made;
}

let provider = makeProvider();
let callback = provider.callback();
http.createServer(async (req, res) => {
  try {
    const path = req.url.split('?')[0];
    requests[path] = (requests[path] || 0) + 1;
    if (req.method === 'GET' && req.url === '/test/requests') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(requests));
      return;
    }
    if (req.method === 'POST' && req.url === '/test/rotate') {
      provider = makeProvider();
      callback = provider.callback();
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && req.url === '/test/account') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const account = JSON.parse(body);
      accounts.set(account.sub, account);
      next = account.sub;
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
      await provider.interactionDetails(req, res);
      await provider.interactionFinished(req, res, { login: { accountId: next } }, {
        mergeWithLastSubmission: false,
      });
      return;
    }
    callback(req, res);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
  }
}).listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
