// Command cyclonus builds Matt Fenwick's NetworkPolicy engine (v0.5.6, pinned in go.mod) as the
// independent oracle of test/policy-oracle.test.ts: `cyclonus analyze --mode probe` prints the
// truth table Kubernetes' semantics give a set of policies over a synthetic model, no cluster
// needed. Its successor, policy-assistant, is not served by the Go module proxy.
package main

import "github.com/mattfenwick/cyclonus/pkg/cli"

func main() {
	cli.RunRootCommand()
}
