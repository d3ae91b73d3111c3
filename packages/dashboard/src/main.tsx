import { render } from 'preact';
import { storageKeyStore } from './model/session.js';
import { App } from './ui/App.js';

const root = document.getElementById('app');
if (root === null) throw new Error('the page has no #app element');
render(<App keys={storageKeyStore(sessionStorage)} />, root);
