# Prints, as one JSON line, what the AWS SDK for Ruby's default credential
# chain (Aws::CredentialProviderChain, as a client built without explicit
# credentials or profile resolves it) gives in this process's environment:
# the provider's class and the access key ID, or the error. A test oracle
# for rolecall's chain model (tests/cli/chain_oracle.rs), run by
# tests/run.sh with Debian's ruby-aws-sdk-core; the secret is never printed.
# STS and SSO go to AWS_ENDPOINT_URL_STS when it is set (this SDK version
# does not read it).
require 'json'
require 'aws-sdk-core'

# This version connects to port 80 whatever port AWS_EC2_METADATA_SERVICE_ENDPOINT
# names (`@port = options[:port] || 80`); the test server listens elsewhere,
# so the endpoint's own port is used, as later versions do.
module EndpointPort
  def initialize(options = {})
    super
    @port = URI.parse(@endpoint).port
  end
end
Aws::InstanceProfileCredentials.prepend(EndpointPort)

line = { 'provider' => nil, 'key' => nil, 'error' => nil }
begin
  if (sts = ENV['AWS_ENDPOINT_URL_STS'])
    Aws.config.update(sts: { endpoint: sts }, sso: { endpoint: sts })
  end
  provider = Aws::STS::Client.new(region: 'us-east-1').config.credentials
  if provider.nil? || !provider.set?
    line['error'] = 'no credentials'
  else
    line['provider'] = provider.class.name
    line['key'] = provider.credentials.access_key_id
  end
rescue StandardError => e
  line['error'] = "#{e.class.name}: #{e.message}"
end
puts JSON.generate(line)
