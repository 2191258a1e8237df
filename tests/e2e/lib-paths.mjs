// Where the npm MCP servers live (shared by the tests and the demo).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const mod = (p) => path.join(here, 'node_modules', p);
export const EVERYTHING = [process.execPath, mod('@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'];
export const FILESYSTEM = (dir) => [process.execPath, mod('@modelcontextprotocol/server-filesystem/dist/index.js'), dir];
