// Prints, as one JSON line, what the AWS SDK for Go v1's default credential
// chain (session.NewSession, the way most programs build a session: the
// shared config file only with AWS_SDK_LOAD_CONFIG) resolves in this
// process's environment: the provider's name (credentials.Value.ProviderName)
// and the access key ID, or the error. A test oracle for rolecall's chain
// model (tests/cli/chain_oracle.rs), built by tests/run.sh from Debian's
// golang-github-aws-aws-sdk-go-dev in GOPATH mode; the secret is never
// printed. STS and SSO go to AWS_ENDPOINT_URL_STS when it is set (this SDK
// version does not read it).
package main

import (
	"encoding/json"
	"os"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/endpoints"
	"github.com/aws/aws-sdk-go/aws/session"
)

func main() {
	cfg := aws.NewConfig().WithRegion("us-east-1")
	if sts := os.Getenv("AWS_ENDPOINT_URL_STS"); sts != "" {
		cfg = cfg.WithEndpointResolver(endpoints.ResolverFunc(func(service, region string, opts ...func(*endpoints.Options)) (endpoints.ResolvedEndpoint, error) {
			if service == "sts" || service == "portal.sso" {
				return endpoints.ResolvedEndpoint{URL: sts, SigningRegion: region}, nil
			}
			return endpoints.DefaultResolver().EndpointFor(service, region, opts...)
		}))
	}
	line := map[string]interface{}{"provider": nil, "key": nil, "error": nil}
	sess, err := session.NewSession(cfg)
	if err == nil {
		v, gerr := sess.Config.Credentials.Get()
		if gerr == nil {
			line["provider"], line["key"] = v.ProviderName, v.AccessKeyID
		}
		err = gerr
	}
	if err != nil {
		line["error"] = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(line)
}
