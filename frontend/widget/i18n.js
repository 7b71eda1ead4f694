/*
 * Every string the customer sees, in English, German, French and Spanish.
 *
 * The language is the embed tag's data-lang, else the page's <html lang>, else English; only the
 * primary subtag counts ("de-AT" is German). A string is a text with {name} placeholders, or for
 * counts an object of Intl.PluralRules categories ("one", "other", ...) chosen by params.count.
 * Every catalog has every key of the English one: scripts/check-catalogs.mjs fails the build
 * otherwise. Customer-facing texts address the customer formally (Sie, vous, usted).
 *
 * What the server sends (a reason, a mode and who changed it, an error code) is turned into text
 * here from its code; the server's English message is shown only on an English page, and only for
 * a code this catalog does not know.
 */

export var CATALOGS = {
  en: {
    start: "Start Co-browse",
    starting: "Starting…",
    exit: "Exit co-browse",
    panel: "Co-browse",
    sessionIdLabel: "Your co-browse session ID",
    hintWaiting: "Read this number to the agent. Nothing is shared until they join.",
    hintActive: "The agent sees this tab of the site, nothing else on your screen.",
    statusWaiting: "Waiting for an agent…",
    statusReconnecting: "{agent} is reconnecting…",
    statusWith: "Co-browsing with {agent}",
    statusWriting: "Agent can type · {agent}",
    anAgent: "an agent",
    theAgent: "The agent",
    agentLabel: "Agent",
    toggleOn: "Write mode: on",
    toggleOff: "Pointer mode",
    toggleTitle: "Write mode: the agent can type and click. Turn off to go back to pointer mode.",
    writeMode: "Write mode",
    writeRequestLabel: "Write mode request",
    writeRequest:
      "{agent} asks for write mode: they could type and click on this page with you. " +
      "Private fields stay hidden and locked.",
    allow: "Allow",
    unavailable: "Co-browse is not available on this page.",
    answerShortcut: "Press Alt+Shift+C to answer.",
    deny: "Deny",
    writeLapsed: "The write mode request lapsed.",
    modeWriteByCustomer: "You allowed write mode: the agent can type and click on this page.",
    modeWrite: "Write mode is on: the agent can type and click on this page.",
    modePointerByCustomer: "You switched back to pointer mode: the agent can only point.",
    modePointerByAgent: "The agent switched back to pointer mode.",
    modePointerAgentDisconnected: "Back to pointer mode: the agent's connection dropped.",
    modePointerCustomerLeft: "Back to pointer mode: you left the site.",
    modePointerCustomerHidden: "Back to pointer mode: this page was hidden.",
    modePointer: "Back to pointer mode: the agent can only point.",
    agentJoined: "{agent} joined and can see this page.",
    agentDropped: "The agent's connection dropped. They have {time} to come back before co-browsing ends.",
    seconds: { one: "{count} second", other: "{count} seconds" },
    minutes: { one: "{count} minute", other: "{count} minutes" },
    endedByCustomer: "You ended co-browsing.",
    endedByAgent: "The agent ended co-browsing.",
    endedExpired: "The session expired before an agent joined.",
    endedPauseTimeout: "Co-browsing ended: you did not come back to the site in time.",
    endedByStaff: "A supervisor ended the session.",
    endedInteraction: "The chat or call ended, and co-browsing with it.",
    endedAgentLost: "The agent's connection was lost and did not come back in time.",
    ended: "Co-browsing has ended.",
    sessionNotFound: "This co-browse session is no longer available.",
    foreignOrigin: "Co-browse is not set up for this website.",
    startFailed: "Could not start co-browse. Try again in a moment.",
    policyFailed: "Co-browse could not load this site's privacy settings; nothing is shared.",
    privateNotice: "Not visible to the agent",
    dismiss: "Dismiss",
    chatOpen: "Chat with us",
    chat: "Chat",
    chatEnd: "End chat",
    chatClose: "Close chat",
    chatName: "Your name",
    chatNameOptional: "Your name (optional)",
    chatMessage: "Message",
    chatPlaceholder: "Type a message…",
    chatSend: "Send",
    chatIntro: "Ask us anything: an agent will answer here.",
    chatWith: "Chatting with {agent}",
    chatWaiting: "Waiting for an agent…",
    chatYou: "You",
    chatUnavailable: "Chat is not available right now.",
    chatNewMessage: "New message from the agent",
    chatJoined: "{agent} joined the chat.",
    chatCobrowseStarted: "Co-browse session {code} started.",
    chatCobrowseEnded: "Co-browse session {code} ended. The chat goes on.",
    chatEndedByCustomer: "You ended the chat.",
    chatEndedByAgent: "The agent ended the chat.",
    chatEndedCall: "The call ended.",
    chatEndedByStaff: "A supervisor ended the chat.",
    chatEnded: "The chat has ended.",
  },
  de: {
    start: "Co-Browsing starten",
    starting: "Wird gestartet…",
    exit: "Co-Browsing beenden",
    panel: "Co-Browsing",
    sessionIdLabel: "Ihre Co-Browsing-Sitzungs-ID",
    hintWaiting: "Lesen Sie diese Nummer dem Mitarbeiter vor. Bis er beitritt, wird nichts geteilt.",
    hintActive: "Der Mitarbeiter sieht diesen Tab der Website, sonst nichts auf Ihrem Bildschirm.",
    statusWaiting: "Warten auf einen Mitarbeiter…",
    statusReconnecting: "{agent} verbindet sich neu…",
    statusWith: "Co-Browsing mit {agent}",
    statusWriting: "Mitarbeiter kann tippen · {agent}",
    anAgent: "einem Mitarbeiter",
    theAgent: "Der Mitarbeiter",
    agentLabel: "Mitarbeiter",
    toggleOn: "Schreibmodus: an",
    toggleOff: "Zeigemodus",
    toggleTitle:
      "Schreibmodus: Der Mitarbeiter kann tippen und klicken. Ausschalten, um zum Zeigemodus zurückzukehren.",
    writeMode: "Schreibmodus",
    writeRequestLabel: "Anfrage für den Schreibmodus",
    writeRequest:
      "{agent} bittet um den Schreibmodus: Er könnte auf dieser Seite mit Ihnen tippen und klicken. " +
      "Private Felder bleiben verborgen und gesperrt.",
    allow: "Erlauben",
    unavailable: "Co-Browsing ist auf dieser Seite nicht verfügbar.",
    answerShortcut: "Drücken Sie Alt+Umschalt+C, um zu antworten.",
    deny: "Ablehnen",
    writeLapsed: "Die Anfrage für den Schreibmodus ist abgelaufen.",
    modeWriteByCustomer:
      "Sie haben den Schreibmodus erlaubt: Der Mitarbeiter kann auf dieser Seite tippen und klicken.",
    modeWrite: "Der Schreibmodus ist an: Der Mitarbeiter kann auf dieser Seite tippen und klicken.",
    modePointerByCustomer: "Sie sind zum Zeigemodus zurückgekehrt: Der Mitarbeiter kann nur zeigen.",
    modePointerByAgent: "Der Mitarbeiter ist zum Zeigemodus zurückgekehrt.",
    modePointerAgentDisconnected: "Zurück im Zeigemodus: Die Verbindung des Mitarbeiters ist abgebrochen.",
    modePointerCustomerLeft: "Zurück im Zeigemodus: Sie haben die Website verlassen.",
    modePointerCustomerHidden: "Zurück im Zeigemodus: Diese Seite war ausgeblendet.",
    modePointer: "Zurück im Zeigemodus: Der Mitarbeiter kann nur zeigen.",
    agentJoined: "{agent} ist beigetreten und sieht diese Seite.",
    agentDropped:
      "Die Verbindung des Mitarbeiters ist abgebrochen. Er hat {time}, um zurückzukommen, bevor das Co-Browsing endet.",
    seconds: { one: "{count} Sekunde", other: "{count} Sekunden" },
    minutes: { one: "{count} Minute", other: "{count} Minuten" },
    endedByCustomer: "Sie haben das Co-Browsing beendet.",
    endedByAgent: "Der Mitarbeiter hat das Co-Browsing beendet.",
    endedExpired: "Die Sitzung ist abgelaufen, bevor ein Mitarbeiter beigetreten ist.",
    endedPauseTimeout: "Co-Browsing beendet: Sie sind nicht rechtzeitig auf die Website zurückgekehrt.",
    endedByStaff: "Ein Supervisor hat die Sitzung beendet.",
    endedInteraction: "Der Chat oder Anruf ist beendet und damit auch das Co-Browsing.",
    endedAgentLost: "Die Verbindung des Mitarbeiters ist abgebrochen und kam nicht rechtzeitig zurück.",
    ended: "Das Co-Browsing ist beendet.",
    sessionNotFound: "Diese Co-Browsing-Sitzung ist nicht mehr verfügbar.",
    foreignOrigin: "Co-Browsing ist für diese Website nicht eingerichtet.",
    startFailed: "Co-Browsing konnte nicht gestartet werden. Versuchen Sie es gleich noch einmal.",
    policyFailed:
      "Co-Browsing konnte die Datenschutzeinstellungen dieser Website nicht laden; es wird nichts geteilt.",
    privateNotice: "Für den Mitarbeiter nicht sichtbar",
    dismiss: "Schließen",
    chatOpen: "Chatten Sie mit uns",
    chat: "Chat",
    chatEnd: "Chat beenden",
    chatClose: "Chat schließen",
    chatName: "Ihr Name",
    chatNameOptional: "Ihr Name (optional)",
    chatMessage: "Nachricht",
    chatPlaceholder: "Nachricht eingeben…",
    chatSend: "Senden",
    chatIntro: "Fragen Sie uns alles: Ein Mitarbeiter antwortet hier.",
    chatWith: "Chat mit {agent}",
    chatWaiting: "Warten auf einen Mitarbeiter…",
    chatYou: "Sie",
    chatUnavailable: "Der Chat ist gerade nicht verfügbar.",
    chatNewMessage: "Neue Nachricht vom Mitarbeiter",
    chatJoined: "{agent} ist dem Chat beigetreten.",
    chatCobrowseStarted: "Co-Browsing-Sitzung {code} gestartet.",
    chatCobrowseEnded: "Co-Browsing-Sitzung {code} beendet. Der Chat geht weiter.",
    chatEndedByCustomer: "Sie haben den Chat beendet.",
    chatEndedByAgent: "Der Mitarbeiter hat den Chat beendet.",
    chatEndedCall: "Der Anruf ist beendet.",
    chatEndedByStaff: "Ein Supervisor hat den Chat beendet.",
    chatEnded: "Der Chat ist beendet.",
  },
  fr: {
    start: "Démarrer le co-browsing",
    starting: "Démarrage…",
    exit: "Quitter le co-browsing",
    panel: "Co-browsing",
    sessionIdLabel: "Votre identifiant de session de co-browsing",
    hintWaiting: "Lisez ce numéro au conseiller. Rien n'est partagé avant qu'il ne vous rejoigne.",
    hintActive: "Le conseiller voit cet onglet du site, rien d'autre sur votre écran.",
    statusWaiting: "En attente d'un conseiller…",
    statusReconnecting: "{agent} se reconnecte…",
    statusWith: "Co-browsing avec {agent}",
    statusWriting: "Le conseiller peut écrire · {agent}",
    anAgent: "un conseiller",
    theAgent: "Le conseiller",
    agentLabel: "Conseiller",
    toggleOn: "Mode écriture : activé",
    toggleOff: "Mode pointeur",
    toggleTitle:
      "Mode écriture : le conseiller peut écrire et cliquer. Désactivez-le pour revenir au mode pointeur.",
    writeMode: "Mode écriture",
    writeRequestLabel: "Demande de mode écriture",
    writeRequest:
      "{agent} demande le mode écriture : il pourrait écrire et cliquer sur cette page avec vous. " +
      "Les champs privés restent masqués et verrouillés.",
    allow: "Autoriser",
    unavailable: "Le co-browsing n'est pas disponible sur cette page.",
    answerShortcut: "Appuyez sur Alt+Maj+C pour répondre.",
    deny: "Refuser",
    writeLapsed: "La demande de mode écriture a expiré.",
    modeWriteByCustomer:
      "Vous avez autorisé le mode écriture : le conseiller peut écrire et cliquer sur cette page.",
    modeWrite: "Le mode écriture est activé : le conseiller peut écrire et cliquer sur cette page.",
    modePointerByCustomer: "Vous êtes revenu au mode pointeur : le conseiller peut seulement montrer.",
    modePointerByAgent: "Le conseiller est revenu au mode pointeur.",
    modePointerAgentDisconnected: "Retour au mode pointeur : la connexion du conseiller a été coupée.",
    modePointerCustomerLeft: "Retour au mode pointeur : vous avez quitté le site.",
    modePointerCustomerHidden: "Retour au mode pointeur : cette page a été masquée.",
    modePointer: "Retour au mode pointeur : le conseiller peut seulement montrer.",
    agentJoined: "{agent} vous a rejoint et voit cette page.",
    agentDropped:
      "La connexion du conseiller a été coupée. Il a {time} pour revenir avant la fin du co-browsing.",
    seconds: { one: "{count} seconde", other: "{count} secondes" },
    minutes: { one: "{count} minute", other: "{count} minutes" },
    endedByCustomer: "Vous avez mis fin au co-browsing.",
    endedByAgent: "Le conseiller a mis fin au co-browsing.",
    endedExpired: "La session a expiré avant qu'un conseiller ne vous rejoigne.",
    endedPauseTimeout: "Co-browsing terminé : vous n'êtes pas revenu sur le site à temps.",
    endedByStaff: "Un superviseur a mis fin à la session.",
    endedInteraction: "Le chat ou l'appel est terminé, et le co-browsing avec lui.",
    endedAgentLost: "La connexion du conseiller a été perdue et n'est pas revenue à temps.",
    ended: "Le co-browsing est terminé.",
    sessionNotFound: "Cette session de co-browsing n'est plus disponible.",
    foreignOrigin: "Le co-browsing n'est pas configuré pour ce site.",
    startFailed: "Impossible de démarrer le co-browsing. Réessayez dans un instant.",
    policyFailed:
      "Le co-browsing n'a pas pu charger les paramètres de confidentialité de ce site ; rien n'est partagé.",
    privateNotice: "Invisible pour le conseiller",
    dismiss: "Fermer",
    chatOpen: "Discuter avec nous",
    chat: "Chat",
    chatEnd: "Terminer le chat",
    chatClose: "Fermer le chat",
    chatName: "Votre nom",
    chatNameOptional: "Votre nom (facultatif)",
    chatMessage: "Message",
    chatPlaceholder: "Écrivez un message…",
    chatSend: "Envoyer",
    chatIntro: "Posez-nous vos questions : un conseiller vous répondra ici.",
    chatWith: "Chat avec {agent}",
    chatWaiting: "En attente d'un conseiller…",
    chatYou: "Vous",
    chatUnavailable: "Le chat n'est pas disponible pour le moment.",
    chatNewMessage: "Nouveau message du conseiller",
    chatJoined: "{agent} a rejoint le chat.",
    chatCobrowseStarted: "Session de co-browsing {code} démarrée.",
    chatCobrowseEnded: "Session de co-browsing {code} terminée. Le chat continue.",
    chatEndedByCustomer: "Vous avez mis fin au chat.",
    chatEndedByAgent: "Le conseiller a mis fin au chat.",
    chatEndedCall: "L'appel est terminé.",
    chatEndedByStaff: "Un superviseur a mis fin au chat.",
    chatEnded: "Le chat est terminé.",
  },
  es: {
    start: "Iniciar co-navegación",
    starting: "Iniciando…",
    exit: "Salir de la co-navegación",
    panel: "Co-navegación",
    sessionIdLabel: "Su ID de sesión de co-navegación",
    hintWaiting: "Lea este número al agente. No se comparte nada hasta que se una.",
    hintActive: "El agente ve esta pestaña del sitio, nada más de su pantalla.",
    statusWaiting: "Esperando a un agente…",
    statusReconnecting: "{agent} se está reconectando…",
    statusWith: "Co-navegando con {agent}",
    statusWriting: "El agente puede escribir · {agent}",
    anAgent: "un agente",
    theAgent: "El agente",
    agentLabel: "Agente",
    toggleOn: "Modo escritura: activado",
    toggleOff: "Modo puntero",
    toggleTitle:
      "Modo escritura: el agente puede escribir y hacer clic. Desactívelo para volver al modo puntero.",
    writeMode: "Modo escritura",
    writeRequestLabel: "Solicitud de modo escritura",
    writeRequest:
      "{agent} solicita el modo escritura: podría escribir y hacer clic en esta página con usted. " +
      "Los campos privados siguen ocultos y bloqueados.",
    allow: "Permitir",
    unavailable: "La co-navegación no está disponible en esta página.",
    answerShortcut: "Pulse Alt+Mayús+C para responder.",
    deny: "Rechazar",
    writeLapsed: "La solicitud de modo escritura ha caducado.",
    modeWriteByCustomer:
      "Ha permitido el modo escritura: el agente puede escribir y hacer clic en esta página.",
    modeWrite: "El modo escritura está activado: el agente puede escribir y hacer clic en esta página.",
    modePointerByCustomer: "Ha vuelto al modo puntero: el agente solo puede señalar.",
    modePointerByAgent: "El agente ha vuelto al modo puntero.",
    modePointerAgentDisconnected: "De vuelta al modo puntero: se ha perdido la conexión del agente.",
    modePointerCustomerLeft: "De vuelta al modo puntero: ha salido del sitio.",
    modePointerCustomerHidden: "De vuelta al modo puntero: esta página estaba oculta.",
    modePointer: "De vuelta al modo puntero: el agente solo puede señalar.",
    agentJoined: "{agent} se ha unido y puede ver esta página.",
    agentDropped:
      "Se ha perdido la conexión del agente. Tiene {time} para volver antes de que termine la co-navegación.",
    seconds: { one: "{count} segundo", other: "{count} segundos" },
    minutes: { one: "{count} minuto", other: "{count} minutos" },
    endedByCustomer: "Ha terminado la co-navegación.",
    endedByAgent: "El agente ha terminado la co-navegación.",
    endedExpired: "La sesión caducó antes de que se uniera un agente.",
    endedPauseTimeout: "Co-navegación terminada: no volvió al sitio a tiempo.",
    endedByStaff: "Un supervisor ha terminado la sesión.",
    endedInteraction: "El chat o la llamada ha terminado, y la co-navegación con ella.",
    endedAgentLost: "Se perdió la conexión del agente y no volvió a tiempo.",
    ended: "La co-navegación ha terminado.",
    sessionNotFound: "Esta sesión de co-navegación ya no está disponible.",
    foreignOrigin: "La co-navegación no está configurada para este sitio.",
    startFailed: "No se pudo iniciar la co-navegación. Inténtelo de nuevo en un momento.",
    policyFailed:
      "La co-navegación no pudo cargar la configuración de privacidad de este sitio; no se comparte nada.",
    privateNotice: "No visible para el agente",
    dismiss: "Cerrar",
    chatOpen: "Chatee con nosotros",
    chat: "Chat",
    chatEnd: "Terminar chat",
    chatClose: "Cerrar chat",
    chatName: "Su nombre",
    chatNameOptional: "Su nombre (opcional)",
    chatMessage: "Mensaje",
    chatPlaceholder: "Escriba un mensaje…",
    chatSend: "Enviar",
    chatIntro: "Pregúntenos lo que quiera: un agente le responderá aquí.",
    chatWith: "Chateando con {agent}",
    chatWaiting: "Esperando a un agente…",
    chatYou: "Usted",
    chatUnavailable: "El chat no está disponible en este momento.",
    chatNewMessage: "Nuevo mensaje del agente",
    chatJoined: "{agent} se ha unido al chat.",
    chatCobrowseStarted: "Sesión de co-navegación {code} iniciada.",
    chatCobrowseEnded: "Sesión de co-navegación {code} terminada. El chat continúa.",
    chatEndedByCustomer: "Ha terminado el chat.",
    chatEndedByAgent: "El agente ha terminado el chat.",
    chatEndedCall: "La llamada ha terminado.",
    chatEndedByStaff: "Un supervisor ha terminado el chat.",
    chatEnded: "El chat ha terminado.",
  },
};

// The page's language: data-lang on the embed tag, else <html lang>, else English.
export function pickLanguage(requested, pageLang) {
  var candidates = [requested, pageLang];
  for (var i = 0; i < candidates.length; i++) {
    var primary = String(candidates[i] || "").trim().toLowerCase().split(/[-_]/)[0];
    if (Object.prototype.hasOwnProperty.call(CATALOGS, primary)) return primary;
  }
  return "en";
}

export function createTranslator(lang) {
  var catalog = CATALOGS[lang] || CATALOGS.en;
  var rules = typeof Intl !== "undefined" && Intl.PluralRules ? new Intl.PluralRules(lang) : null;

  function fill(text, params) {
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return params && params[name] !== undefined ? String(params[name]) : whole;
    });
  }

  function t(key, params) {
    var entry = Object.prototype.hasOwnProperty.call(catalog, key) ? catalog[key] : CATALOGS.en[key];
    if (entry === undefined) return key;
    if (typeof entry === "object") {
      var count = params && typeof params.count === "number" ? params.count : 0;
      var category = rules ? rules.select(count) : count === 1 ? "one" : "other";
      entry = entry[category] || entry.other;
    }
    return fill(entry, params);
  }

  return { lang: lang, t: t };
}
