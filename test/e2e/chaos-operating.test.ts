/** The chaos suite's operating scenarios (two labs at once and a control-socket flood), short, against real labs on loopback. */
import { OPERATING } from '../../chaos/operating.js';
import { chaosTests } from '../chaos-rows.js';

chaosTests(OPERATING);
