import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentManifestsYaml } from '../src/manifests/files';
import { withGeneratedTables } from '../src/model/annotation-table';

// Regenerates what is derived from code: the README's annotation tables (ferry's, from the
// zod schema; LBC's and CPA's, from the alias table) and manifests/agent.yaml (from the
// agent's manifests).
const root = join(__dirname, '..');
const readme = join(root, 'README.md');
writeFileSync(readme, withGeneratedTables(readFileSync(readme, 'utf8')));
writeFileSync(join(root, 'manifests', 'agent.yaml'), agentManifestsYaml());
console.log('updated the annotation tables in README.md and manifests/agent.yaml');
