// Command kubelet builds the upstream kubelet from the Kubernetes Go modules (same pins as
// kube-apiserver), so the lab's real-node mode (`netloom lab up --kubelet real`) runs pods through
// containerd and netloom's CNI shim as a cluster does.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	// A nil context panics inside the command: it is the root of every kubelet goroutine.
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
