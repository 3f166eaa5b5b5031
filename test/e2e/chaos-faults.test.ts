/** The chaos suite's faults scenarios (crashes, stops, crash loops, a killed daemon, run-dir and database faults), short, against real labs on loopback. */
import { FAULTS } from '../../chaos/faults.js';
import { chaosTests } from '../chaos-rows.js';

chaosTests(FAULTS);
