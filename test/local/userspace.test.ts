/**
 * The local data path without root: every node a userspace `ferry agent` on its own
 * loopback address, in the test's process (suite.ts says what is checked).
 */
import { describeLocal } from './suite';

describeLocal('loopback');
