import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentManifestsYaml } from '../src/manifests/files';
import { withAnnotationTable } from '../src/model/annotation-table';

// Regenerates what is derived from code: the README's annotation table (from the zod
// schema) and manifests/agent.yaml (from the agent's manifests).
const root = join(__dirname, '..');
const readme = join(root, 'README.md');
writeFileSync(readme, withAnnotationTable(readFileSync(readme, 'utf8')));
writeFileSync(join(root, 'manifests', 'agent.yaml'), agentManifestsYaml());
console.log('updated the annotation table in README.md and manifests/agent.yaml');
