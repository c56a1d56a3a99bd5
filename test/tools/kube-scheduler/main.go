// Command kube-scheduler builds the upstream scheduler from the Kubernetes Go modules (same pins
// as kube-apiserver), so pods on the lab's real nodes are placed by the real scheduler.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
