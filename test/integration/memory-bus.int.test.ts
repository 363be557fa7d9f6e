import { createMemoryEventBus } from '../../runtime/bus/memory/index.js';
import { describeEventBusContract } from '../contract/event-bus.contract.js';

describeEventBusContract('memory', async () => ({ bus: createMemoryEventBus() }));
