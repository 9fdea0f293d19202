// A chime and the spoken announcement of each call, one at a time, in the screen's
// language (`lang`, its words given by `words(number, station)`): announcements
// queue up and never overlap. Browsers allow sound only after a click, unless the site
// earned it (Chrome's media engagement) or the browser was started with
// --autoplay-policy=no-user-gesture-required (a kiosk): enable() asks for it, and
// `playing` says whether the browser let it through. While sound is enabled but held
// back, calls are not queued (they would all play at once on the first click).
export class Announcer {
  constructor({ onChange = () => {}, lang = "fr-FR", words = null } = {}) {
    this.lang = lang;
    this.words = words || ((number, station) => `Ticket ${number}, ${station}`);
    this.enabled = false;
    this.queue = [];
    this.busy = false;
    this.audio = null;
    this.onChange = onChange;
  }

  get playing() {
    return this.enabled && (!this.audio || this.audio.state === "running");
  }

  enable() {
    this.enabled = true;
    if (!this.audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (Context) {
        this.audio = new Context();
        this.audio.addEventListener("statechange", () => this.onChange());
      }
    }
    if (this.audio && this.audio.state !== "running") {
      this.audio.resume().catch(() => {});
    }
    if (window.speechSynthesis) window.speechSynthesis.cancel();
    this.onChange();
  }

  disable() {
    this.enabled = false;
    this.queue = [];
    if (window.speechSynthesis) window.speechSynthesis.cancel();
    if (this.audio && this.audio.state === "running") this.audio.suspend().catch(() => {});
    this.onChange();
  }

  announce(number, station) {
    if (!this.playing) return;
    this.queue.push(this.words(number, station));
    if (!this.busy) this.next();
  }

  async next() {
    const text = this.queue.shift();
    if (text === undefined) {
      this.busy = false;
      return;
    }
    this.busy = true;
    await this.chime();
    await this.say(text);
    this.next();
  }

  chime() {
    if (!this.audio) return Promise.resolve();
    const now = this.audio.currentTime;
    for (const [offset, frequency] of [[0, 880], [0.35, 660]]) {
      const tone = this.audio.createOscillator();
      const gain = this.audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.4, now + offset + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.6);
      tone.connect(gain).connect(this.audio.destination);
      tone.start(now + offset);
      tone.stop(now + offset + 0.65);
    }
    return new Promise((resolve) => window.setTimeout(resolve, 1000));
  }

  say(text) {
    if (!window.speechSynthesis) return Promise.resolve();
    return new Promise((resolve) => {
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = this.lang;
      utterance.rate = 0.9;
      const done = () => resolve();
      utterance.addEventListener("end", done);
      utterance.addEventListener("error", done);
      window.setTimeout(done, 8000);
      window.speechSynthesis.speak(utterance);
    });
  }
}
