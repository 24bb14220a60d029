package exporter

import (
	"errors"
	"io/fs"
	"os"
)

var errNotSupported = errors.New("the exporter is not supported on windows")

func lockFile(string) (*os.File, error) { return nil, errNotSupported }

func checkWritable(string, fs.FileMode) error { return errNotSupported }

func sameMount(string, string) (bool, error) { return false, errNotSupported }
