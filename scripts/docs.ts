import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAnnotationTable } from '../src/model/annotation-table';

// Regenerates the README's annotation table from the zod schema.
const path = join(__dirname, '..', 'README.md');
writeFileSync(path, withAnnotationTable(readFileSync(path, 'utf8')));
console.log(`updated the annotation table in ${path}`);
