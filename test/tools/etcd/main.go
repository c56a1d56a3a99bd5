// Command etcd builds a current etcd server from its Go module; Debian's
// etcd-server (3.4.23) lacks the health endpoints Kubernetes >= 1.31 expects.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
