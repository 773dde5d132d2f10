import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAnnotationTable } from '../../../src/model/annotation-table';

test('the README documents exactly the annotations the schema accepts (run `npm run docs` after changing them)', () => {
  const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
  expect(withAnnotationTable(readme)).toBe(readme);
});
