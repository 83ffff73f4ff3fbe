import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { isEmbedded } from './embedEvents';
import { Embedded } from './screens/Embedded';
import './styles.css';

createRoot(document.getElementById('root')!).render(<StrictMode>{isEmbedded() ? <Embedded /> : <App />}</StrictMode>);
