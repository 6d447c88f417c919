// Helpers shared by the tests of every package (private: no published package's code imports it).
export {
  FrameReader,
  TEST_KEY,
  bytesOf,
  closeOf,
  closePayload,
  concatBytes,
  frame,
  readFrames,
} from './frames.js';
export type { FrameSpec, ParsedFrame, ReadFrame } from './frames.js';
export { KEY, upgradeRequest } from './upgrade.js';
export { propertySettings } from './property.js';
export type { PropertySettings } from './property.js';
export { REDIS_SERVER, RedisServer, freePort, haveRedis } from './redis-server.js';
