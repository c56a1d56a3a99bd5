// Command kube-apiserver builds the upstream API server from the Kubernetes Go
// modules, so netloom's tests can run a real one without Docker or downloads.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
