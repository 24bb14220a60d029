// Package localbuilder manages the BuildKit daemon devloop starts by itself when no
// builder is configured (builder address "auto"): where it keeps its state, how it is
// started (buildkitd as root, under rootlesskit otherwise), how devloop finds it again,
// and how `devloop builder stop` stops it.
//
// The daemon runs detached (its own session and process group: neither Ctrl-C nor
// devloop's exit stops it) and keeps running so that the next session starts warm. Its
// state lives in one directory, by default os.UserCacheDir()/devloop/buildkitd:
//
//	root/            buildkitd's --root (the build cache)
//	buildkitd.sock   its socket: Address is unix://<dir>/buildkitd.sock
//	buildkitd.pid    the pid devloop started
//	buildkitd.log    its output, appended per start
//	lock             an flock(2) held while starting or stopping, so two devloop
//	                 processes never start two daemons or stop one being started
//
// The package knows nothing of BuildKit's API: the caller says whether a daemon answers
// at an address with a [Probe] (devloop's BuildKit client connecting), which it may use
// to keep the connection it made.
//
// Starting a daemon is supported on Unix only; on Windows [Daemon.Connect] reports why
// it did not start one.
package localbuilder
