// Package greeting builds the text the server answers with.
package greeting

import "fmt"

// Text is the greeting the server sends. Edit it while `devloop up` runs and watch the
// server pick up the change.
const Text = "hello from greeter"

// For returns the greeting for a caller.
func For(name string) string {
	if name == "" {
		return Text
	}
	return fmt.Sprintf("%s, %s", Text, name)
}
