// Package faults holds devloop's fault-injection tests (RELIABILITY.md): crashes
// during the swap, BuildKit daemon and registry loss, edit storms, orphaned
// processes, crash-looping apps, bad input and a resource soak. They drive the real
// devloop binary, built by TestMain, against a real BuildKit daemon ($BUILDKIT_HOST;
// hack/testbed/up.sh starts one) and fail without one. They build only with the tag
// e2e (`make test`, or go test -tags e2e ./test/faults); without it this package has
// no tests.
//
// Iteration counts are small by default (CI); DEVLOOP_FAULTS_SCALE=full runs the
// counts RELIABILITY.md reports (make faults). DEVLOOP_FAULTS_SEED fixes the random
// choices of a run; every test logs the seed it used.
package faults
