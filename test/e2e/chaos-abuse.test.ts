/** The chaos suite's abuse scenarios (slow and hostile clients, floods, pipelining, a hostile report), short, against real labs on loopback. */
import { ABUSE } from '../../chaos/abuse.js';
import { chaosTests } from '../chaos-rows.js';

chaosTests(ABUSE);
