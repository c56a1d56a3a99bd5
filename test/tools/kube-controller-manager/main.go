// Command kube-controller-manager builds the upstream controller manager from the Kubernetes Go
// modules, so the netloom lab runs Deployments, ReplicaSets, EndpointSlices and garbage collection.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
