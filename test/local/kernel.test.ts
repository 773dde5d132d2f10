/**
 * The local data path as root: every node a network namespace running `ferry agent --mode
 * nftables` as its own process, pods in namespaces of their own (suite.ts says what is
 * checked). Skipped, with the reason in its title, where namespaces cannot be made.
 */
import { describeLocal } from './suite';

describeLocal('namespaces');
