package exporter

import (
	"errors"
	"io/fs"
)

var errNotSupported = errors.New("the exporter is not supported on windows")

func checkWritable(string, fs.FileMode) error { return errNotSupported }

func sameMount(string, string) (bool, error) { return false, errNotSupported }
