// Prints the README's configuration table (see src/config-table.ts).
import { configTable } from '../src/config-table.js'

process.stdout.write(`${configTable()}\n`)
