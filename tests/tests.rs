// integration tests: see the modules
