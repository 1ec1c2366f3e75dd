// Replay controls for /watch: play/pause, speed, a scrubber, and the keyboard
// (space: play/pause; left/right: one tick; +/-: speed).

const BASE_MS = 500; // one tick at 1× speed

/** Plays `ticks` (replay shape) through `show(tick, index)`. */
export class Replay {
  constructor(ticks, show) {
    this.ticks = ticks;
    this.show = show;
    this.at = 0;
    this.timer = 0;
    this.playing = false;
    this.button = document.getElementById("play");
    this.speed = document.getElementById("speed");
    this.scrub = document.getElementById("scrub");
    this.label = document.getElementById("scrub-label");
    this.scrub.min = "1";
    this.scrub.max = String(Math.max(1, ticks.length));
    this.button.onclick = () => (this.playing ? this.pause() : this.play());
    this.speed.onchange = () => this.playing && this.schedule();
    this.scrub.oninput = () => {
      this.pause();
      this.seek(Number(this.scrub.value) - 1);
    };
    document.addEventListener("keydown", (e) => this.key(e));
    document.getElementById("replay").hidden = false;
  }

  key(e) {
    if (e.target.closest && e.target.closest("input, select, dialog")) return;
    if (e.key === " ") {
      e.preventDefault();
      this.playing ? this.pause() : this.play();
    } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      this.pause();
      this.seek(this.at + (e.key === "ArrowRight" ? 1 : -1));
    } else if (e.key === "+" || e.key === "-") {
      const i = this.speed.selectedIndex + (e.key === "+" ? 1 : -1);
      this.speed.selectedIndex = Math.max(0, Math.min(this.speed.options.length - 1, i));
      if (this.playing) this.schedule();
    }
  }

  seek(i) {
    if (!this.ticks.length) return;
    this.at = Math.max(0, Math.min(this.ticks.length - 1, i));
    this.scrub.value = String(this.at + 1);
    this.label.textContent = `${this.at + 1} / ${this.ticks.length}`;
    this.show(this.ticks[this.at], this.at);
  }

  schedule() {
    clearInterval(this.timer);
    const ms = BASE_MS / Number(this.speed.value || 1);
    this.timer = setInterval(() => {
      if (this.at >= this.ticks.length - 1) return this.pause();
      this.seek(this.at + 1);
    }, ms);
  }

  play() {
    if (this.at >= this.ticks.length - 1) this.seek(0);
    this.playing = true;
    this.button.textContent = "Pause";
    this.schedule();
  }

  pause() {
    this.playing = false;
    this.button.textContent = "Play";
    clearInterval(this.timer);
  }
}
