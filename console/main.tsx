/** The console's entry: its style sheet and the app, rendered into #app. */
import { render } from 'preact';
import { App } from './app.js';
import './style.css';

render(<App />, document.getElementById('app')!);
