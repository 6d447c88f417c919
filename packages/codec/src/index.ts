export * from './permessage-deflate.js';
