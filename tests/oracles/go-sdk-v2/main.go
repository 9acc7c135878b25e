// Prints, as one JSON line, what the AWS SDK for Go v2's default credential
// chain (config.LoadDefaultConfig) resolves in this process's environment:
// the provider's name (aws.Credentials.Source) and the access key ID, or the
// error. A test oracle for rolecall's chain model (tests/cli/chain_oracle.rs),
// built by tests/run.sh from Debian's golang-github-aws-aws-sdk-go-v2-dev in
// GOPATH mode; the secret is never printed. STS and SSO go to
// AWS_ENDPOINT_URL_STS when it is set (this SDK version does not read it).
// With `wait` as its last argument it then sleeps for five minutes: a real
// Go process built with the SDK, for rolecall to read through /proc (the
// arguments before it are only for its command line to show).
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := []func(*config.LoadOptions) error{config.WithRegion("us-east-1")}
	if sts := os.Getenv("AWS_ENDPOINT_URL_STS"); sts != "" {
		resolver := aws.EndpointResolverWithOptionsFunc(func(service, region string, _ ...interface{}) (aws.Endpoint, error) {
			if service == "STS" || service == "SSO" {
				return aws.Endpoint{URL: sts, SigningRegion: region}, nil
			}
			return aws.Endpoint{}, &aws.EndpointNotFoundError{}
		})
		opts = append(opts, config.WithEndpointResolverWithOptions(resolver))
	}
	line := map[string]interface{}{"provider": nil, "key": nil, "error": nil}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err == nil && cfg.Credentials == nil {
		line["error"] = "no credentials provider"
	} else if err == nil {
		var creds aws.Credentials
		creds, err = cfg.Credentials.Retrieve(ctx)
		if err == nil {
			line["provider"], line["key"] = creds.Source, creds.AccessKeyID
		}
	}
	if err != nil {
		line["error"] = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(line)
	if n := len(os.Args); n > 1 && os.Args[n-1] == "wait" {
		time.Sleep(5 * time.Minute)
	}
}
