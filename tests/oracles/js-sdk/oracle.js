// Prints, as one JSON line, what the AWS SDK for JavaScript v3's default
// credential chain resolves in this process's environment: the credential
// features the SDK recorded (its own account of where the credentials came
// from) and the access key ID, or the error. A test oracle for rolecall's
// chain model (tests/cli/chain_oracle.rs); the secret is never printed.
const { defaultProvider } = require("@aws-sdk/credential-provider-node");

const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
// The "Multiple credential sources detected" warning would go to stderr.
process.emitWarning = () => {};

defaultProvider()().then(
  (creds) => print({ features: Object.keys(creds.$source || {}), key: creds.accessKeyId, error: null }),
  (err) => print({ features: [], key: null, error: `${err.name}: ${err.message}` }),
);
