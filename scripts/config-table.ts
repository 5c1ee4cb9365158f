// Prints the configuration table of docs/configuration.md (see src/config-table.ts).
import { configTable } from '../src/config-table.js'

process.stdout.write(`${configTable()}\n`)
