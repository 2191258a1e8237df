// What a naive proxy costs: a line relay in Node that parses every message with JSON.parse and
// re-serializes it, as a typical JavaScript MCP wrapper does. Usage: node node_relay.mjs CMD [ARGS]
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const child = spawn(process.argv[2], process.argv.slice(3), { stdio: ['pipe', 'pipe', 'inherit'] });
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  child.stdin.write(JSON.stringify(JSON.parse(line)) + '\n');
}).on('close', () => child.stdin.end());
readline.createInterface({ input: child.stdout }).on('line', (line) => {
  process.stdout.write(JSON.stringify(JSON.parse(line)) + '\n');
});
child.on('exit', (code) => process.exit(code ?? 1));
