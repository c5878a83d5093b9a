#!/usr/bin/env node
// The `mdcap` command of an installed package: the built CLI (dist/, made by the build).
import '../dist/main.js';
