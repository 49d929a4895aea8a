// The members of a schedule being edited, in rotation order: platform users picked from a list (sent as
// {user_id}) or people typed as name and email (sent as {name, email}); moved up and down, removed.

import { $, h, say } from "./dom.js";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The API body of a member as the schedule answered it (a user stays a user; a role is kept). */
export function memberBody(member) {
  const body = member.user_id ? { user_id: member.user_id } : { name: member.name, email: member.email };
  if (member.role) body.role = member.role;
  return body;
}

export function membersEditor(message) {
  const list = $("#members-list");
  const userSelect = $("#member-user");
  const name = $("#member-name");
  const email = $("#member-email");
  let members = [];

  function render() {
    list.replaceChildren(...members.map((member, index) => {
      const who = `${member.name} <${member.email}>`;
      return h("li", { dataset: { email: member.email } },
        h("span", { class: "member-who" }, who, member.user_id ? h("span", { class: "sub" }, " · platform user") : ""),
        h("span", { class: "row-actions" },
          h("button", { type: "button", disabled: index === 0, "aria-label": `Move ${member.name} up`, onclick: () => move(index, -1) }, "Up"),
          h("button", { type: "button", disabled: index === members.length - 1, "aria-label": `Move ${member.name} down`, onclick: () => move(index, 1) }, "Down"),
          h("button", { type: "button", "aria-label": `Remove ${member.name}`, onclick: () => remove(index) }, "Remove")));
    }));
    if (!members.length) list.replaceChildren(h("li", { class: "sub" }, "No members yet: add at least one."));
  }

  function move(index, by) {
    const [member] = members.splice(index, 1);
    members.splice(index + by, 0, member);
    render();
  }

  function remove(index) {
    members.splice(index, 1);
    render();
  }

  function add(member) {
    if (members.some((m) => m.email.toLowerCase() === member.email.toLowerCase())) {
      say(message, `${member.email} is already a member.`, true);
      return false;
    }
    members.push(member);
    render();
    say(message, "");
    return true;
  }

  $("#member-add-user").addEventListener("click", () => {
    const option = userSelect.selectedOptions[0];
    if (!option || !option.value) {
      say(message, "Pick a user to add.", true);
      return;
    }
    add({ user_id: option.value, name: option.dataset.name, email: option.dataset.email });
  });

  function addPerson() {
    const person = { name: name.value.trim(), email: email.value.trim() };
    if (!person.name || !EMAIL.test(person.email)) {
      say(message, "A member needs a name and a valid email.", true);
      return;
    }
    if (add(person)) {
      name.value = "";
      email.value = "";
      name.focus();
    }
  }
  $("#member-add-person").addEventListener("click", addPerson);
  for (const input of [name, email]) {
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();  // Enter adds the person; it does not submit the whole schedule
      addPerson();
    });
  }

  return {
    setUsers(users) {
      userSelect.replaceChildren(h("option", { value: "" }, "— pick a user —"),
        ...users.map((user) => h("option", { value: user.id, dataset: { name: user.name, email: user.email } }, `${user.name} (${user.email})`)));
    },
    set(next) {
      members = next.map((member) => ({ ...member }));
      render();
    },
    bodies() {
      return members.map(memberBody);
    },
  };
}
