// Command kubectl builds the upstream kubectl from the Kubernetes Go modules (the same release as
// kube-apiserver), so the manifest tests run `kubectl kustomize`, `apply --dry-run=server -k` and
// `auth can-i` with a client of a known version instead of whatever the machine has.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		// kubectl's own error printing (and exit code), as upstream's cmd/kubectl does.
		util.CheckErr(err)
	}
	os.Exit(0)
}
