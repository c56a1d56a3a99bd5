// Command kube-proxy builds the upstream kube-proxy from the Kubernetes Go modules (same pins as
// kube-apiserver and kube-controller-manager), so the services benchmark measures netloom's
// service data plane beside the reference one, in nftables mode, in the same run.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-proxy/app"
)

func main() {
	os.Exit(cli.Run(app.NewProxyCommand()))
}
