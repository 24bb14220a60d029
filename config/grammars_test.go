package config

import (
	"github.com/devloop/devloop/rebuild"
	"github.com/devloop/devloop/supervisor"
)

// testGrammars are the owners' parsers, as cmd/devloop passes them: the tests check
// the values devloop.yaml accepts with the real grammars.
var testGrammars = Grammars{
	CacheSpec: rebuild.CheckCacheSpec,
	Address:   rebuild.CheckAddress,
	Ready:     supervisor.CheckReady,
	Signal:    supervisor.ParseSignal,
}

// stopSignals are the accepted run.stop_signal values, normalized.
var stopSignals = supervisor.StopSignals()
